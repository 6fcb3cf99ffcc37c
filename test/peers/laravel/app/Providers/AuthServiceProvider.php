<?php

namespace App\Providers;

use App\Models\User;
use App\Support\Jwt;
use Illuminate\Foundation\Support\Providers\AuthServiceProvider as ServiceProvider;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Auth;

class AuthServiceProvider extends ServiceProvider
{
    public function register()
    {
        $this->app->singleton(Jwt::class, function ($app) {
            $config = $app['config']['jwt'];

            return new Jwt($config['secret'], $config['issuer'], $config['ttl']);
        });
    }

    public function boot()
    {
        $this->registerPolicies();

        // The "jwt" guard driver: the bearer token's subject, while that account is still active.
        Auth::viaRequest('jwt', function (Request $request) {
            $token = $request->bearerToken();
            $subject = $token ? $this->app->make(Jwt::class)->subject($token, User::class) : null;

            return $subject === null ? null : User::query()->whereKey($subject)->where('is_active', true)->first();
        });
    }
}
