<?php

return [
    'driver' => 'bcrypt',
    // The lowest cost bcrypt allows: the peer is a test server and logs in on every sync.
    'bcrypt' => ['rounds' => 4],
];
