<?php

namespace App\Console\Commands;

use App\Models\User;
use Illuminate\Console\Command;
use Symfony\Component\Console\Output\OutputInterface;

/** Deletes the users whose emails are given as a JSON array on stdin; prints how many went. */
class RemoveUsers extends Command
{
    protected $signature = 'peer:remove-users';

    protected $description = 'Delete users by email (a JSON array on stdin)';

    public function handle()
    {
        $emails = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
        $this->output->writeln(json_encode(User::query()->whereIn('email', $emails)->delete()), OutputInterface::OUTPUT_RAW);

        return 0;
    }
}
