<?php

$app = new Illuminate\Foundation\Application(dirname(__DIR__));

// Everything the app writes (logs, compiled views, the framework's caches) goes to the folder the
// launcher made for this run, never into the repository.
if ($storage = getenv('PEER_STORAGE_PATH')) {
    $app->useStoragePath($storage);
}

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);

return $app;
