<?php

// Composer's place, taken by Debian's packaged framework (found on PHP's include_path, /usr/share/php)
// and a PSR-4 loader for this app's own App\ classes.
require_once 'Illuminate/autoload.php';

spl_autoload_register(function (string $class): void {
    if (strncmp($class, 'App\\', 4) !== 0) {
        return;
    }
    $file = __DIR__.'/../app/'.str_replace('\\', '/', substr($class, 4)).'.php';
    if (is_file($file)) {
        require $file;
    }
});
