<?php

use App\Http\Controllers\AuthController;
use App\Http\Controllers\UserController;
use Illuminate\Support\Facades\Route;

// One app, one base path per pagination style: a location's online URL ends in the style it syncs from
// (http://host:port/paginate → /paginate/api/auth/login and /paginate/api/users).
$styles = [
    'paginate' => 'paginate',
    'simple' => 'simple',
    'cursor' => 'cursor',
    'resource' => 'resource',
    'cursor-resource' => 'cursorResource',
];

foreach ($styles as $prefix => $action) {
    Route::prefix($prefix.'/api')->group(function () use ($action) {
        Route::post('auth/login', [AuthController::class, 'login']);
        Route::get('users', [UserController::class, $action])->middleware('auth:api');
    });
}
