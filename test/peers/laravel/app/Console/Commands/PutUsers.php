<?php

namespace App\Console\Commands;

use App\Models\User;
use Illuminate\Console\Command;
use Symfony\Component\Console\Output\OutputInterface;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Hash;
use Illuminate\Support\Str;

/**
 * Inserts or updates users from a JSON array on stdin, in one transaction: a row with an "id" updates
 * that user (its email too), otherwise the user with that email, otherwise a new user. Prints the rows.
 */
class PutUsers extends Command
{
    protected $signature = 'peer:put-users';

    protected $description = 'Insert or update users given as a JSON array on stdin';

    public function handle()
    {
        $rows = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
        $saved = DB::transaction(function () use ($rows) {
            return array_map(function (array $row) {
                $user = isset($row['id']) ? User::query()->findOrFail($row['id']) : User::query()->firstOrNew(['email' => $row['email']]);
                $user->fill(array_intersect_key($row, array_flip(['name', 'email', 'role', 'is_active'])));
                if (array_key_exists('password', $row) || ! $user->exists) {
                    $user->password = Hash::make($row['password'] ?? Str::random(32));
                }
                $user->save();
                $user->refresh();

                return $user->only(['id', 'name', 'email', 'role', 'is_active']);
            }, $rows);
        });
        $this->output->writeln(json_encode($saved), OutputInterface::OUTPUT_RAW);

        return 0;
    }
}
