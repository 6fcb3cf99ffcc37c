<?php

// tymon/jwt-auth's settings that this app uses: the secret and the token lifetime in minutes.
return [
    'secret' => env('JWT_SECRET'),
    'ttl' => (int) env('JWT_TTL', 60),
    'issuer' => env('APP_URL', 'http://127.0.0.1'),
];
