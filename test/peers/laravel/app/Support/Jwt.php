<?php

namespace App\Support;

/**
 * HS256 tokens shaped like tymon/jwt-auth's (iss, iat, exp, nbf, jti, sub, prv), signed and checked with
 * hash_hmac. Only HS256 is accepted: a token naming another algorithm ("none" included) is refused.
 */
class Jwt
{
    public function __construct(private string $secret, private string $issuer, private int $ttlMinutes)
    {
    }

    public function ttlSeconds(): int
    {
        return $this->ttlMinutes * 60;
    }

    public function issue(int $subject, string $providerClass): string
    {
        $now = time();
        $header = ['typ' => 'JWT', 'alg' => 'HS256'];
        $claims = [
            'iss' => $this->issuer,
            'iat' => $now,
            'exp' => $now + $this->ttlSeconds(),
            'nbf' => $now,
            'jti' => bin2hex(random_bytes(8)),
            'sub' => (string) $subject,
            'prv' => sha1($providerClass),
        ];
        $signingInput = self::encode($header).'.'.self::encode($claims);

        return $signingInput.'.'.self::base64Url(hash_hmac('sha256', $signingInput, $this->secret, true));
    }

    /** The subject of a valid token, or null. */
    public function subject(string $token, string $providerClass): ?string
    {
        $parts = explode('.', $token);
        if (count($parts) !== 3) {
            return null;
        }
        [$header, $claims, $signature] = $parts;
        $expected = self::base64Url(hash_hmac('sha256', $header.'.'.$claims, $this->secret, true));
        if (! hash_equals($expected, $signature)) {
            return null;
        }
        $header = json_decode(self::unbase64Url($header), true);
        $claims = json_decode(self::unbase64Url($claims), true);
        if (! is_array($header) || ($header['alg'] ?? null) !== 'HS256' || ! is_array($claims)) {
            return null;
        }
        $now = time();
        $valid = ($claims['iss'] ?? null) === $this->issuer
            && is_int($claims['exp'] ?? null) && $claims['exp'] > $now
            && is_int($claims['nbf'] ?? null) && $claims['nbf'] <= $now
            && ($claims['prv'] ?? null) === sha1($providerClass)
            && is_string($claims['sub'] ?? null);

        return $valid ? $claims['sub'] : null;
    }

    private static function encode(array $value): string
    {
        return self::base64Url(json_encode($value, JSON_UNESCAPED_SLASHES));
    }

    private static function base64Url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    private static function unbase64Url(string $text): string
    {
        return (string) base64_decode(strtr($text, '-_', '+/'), true);
    }
}
