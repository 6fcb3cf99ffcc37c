<?php

namespace App\Http\Middleware;

use Closure;

/**
 * Appends one JSON line per request (method, path with query, status, whether a bearer token came) to
 * PEER_REQUEST_LOG, so a test can see which pages Sinkron asked for. Never the token itself.
 */
class RecordRequests
{
    public function handle($request, Closure $next)
    {
        return $next($request);
    }

    public function terminate($request, $response)
    {
        $log = getenv('PEER_REQUEST_LOG');
        if (! $log) {
            return;
        }
        $line = json_encode([
            'method' => $request->getMethod(),
            'path' => $request->getPathInfo(),
            'query' => (object) $request->query(),
            'status' => $response->getStatusCode(),
            'bearer' => $request->bearerToken() !== null,
        ]);
        file_put_contents($log, $line."\n", FILE_APPEND | LOCK_EX);
    }
}
