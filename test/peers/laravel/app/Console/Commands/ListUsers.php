<?php

namespace App\Console\Commands;

use App\Models\User;
use Illuminate\Console\Command;
use Symfony\Component\Console\Output\OutputInterface;

/** Prints every user as JSON, by id: what a test compares Sinkron's users with. */
class ListUsers extends Command
{
    protected $signature = 'peer:users';

    protected $description = 'Print every user as a JSON array';

    public function handle()
    {
        // Raw: a name such as "<info>" is data, not a console style.
        $users = User::query()->orderBy('id')->get(['id', 'name', 'email', 'role', 'is_active']);
        $this->output->writeln($users->toJson(), OutputInterface::OUTPUT_RAW);

        return 0;
    }
}
