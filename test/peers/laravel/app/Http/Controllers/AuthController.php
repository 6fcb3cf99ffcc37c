<?php

namespace App\Http\Controllers;

use App\Models\User;
use App\Support\Jwt;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Hash;

/** tymon/jwt-auth's AuthController::login, answer for answer. */
class AuthController extends Controller
{
    public function login(Request $request, Jwt $jwt)
    {
        $credentials = $request->validate([
            'email' => 'required|string',
            'password' => 'required|string',
        ]);

        $user = User::query()->where('email', $credentials['email'])->where('is_active', true)->first();
        if (! $user || ! Hash::check($credentials['password'], $user->password)) {
            return response()->json(['error' => 'Unauthorized'], 401);
        }

        return response()->json([
            'access_token' => $jwt->issue($user->getKey(), User::class),
            'token_type' => 'bearer',
            'expires_in' => $jwt->ttlSeconds(),
        ]);
    }
}
