#!/usr/bin/perl
# The example's client: asks HOST:PORT for SIZE bytes, reads to the end, prints one line per
# request: "ok 4096 bytes in 12 ms" or "error after 1024 bytes in 3 ms: Connection reset by
# peer". COUNT requests (0: forever), one a second.
use strict;
use warnings;
use IO::Socket::INET;

# debian:12-slim's perl-base has no Time::HiRes: the kernel's uptime counts in 10 ms steps.
sub now { open(my $f, '<', '/proc/uptime') or die "client: /proc/uptime: $!\n"; (split ' ', <$f>)[0] }

my ($host, $port, $size, $count) = @ARGV;
$host //= 'finwait';
$port //= 8080;
$size //= 4096;
$count //= 0;
$| = 1;
# As a container's PID 1, a process gets only the signals it handles: stop at once on SIGTERM.
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
for (my $i = 0; $count == 0 || $i < $count; $i++) {
    sleep 1 if $i;
    my $t0 = now();
    my $got = 0;
    my $err;
    my $c = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10);
    if (!$c) {
        $err = "connect: $@";
    } else {
        $c->syswrite("GET $size\n");
        while (1) {
            my $r = sysread($c, my $buf, 65536);
            if (!defined $r) { $err = "$!"; last; }
            last if $r == 0;
            $got += $r;
        }
        close $c;
    }
    my $ms = int((now() - $t0) * 1000 + 0.5);
    print defined $err ? "error after $got bytes in $ms ms: $err\n"
                       : ($got == $size ? "ok" : "short") . " $got bytes in $ms ms\n";
}
