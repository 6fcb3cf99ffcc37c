<?php

namespace App\Exceptions;

use Illuminate\Foundation\Exceptions\Handler as ExceptionHandler;
use Throwable;

class Handler extends ExceptionHandler
{
    protected $dontFlash = ['current_password', 'password', 'password_confirmation'];

    // An API only: errors are JSON even for a client that forgot "Accept: application/json".
    protected function shouldReturnJson($request, Throwable $e)
    {
        return true;
    }
}
