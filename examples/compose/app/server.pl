#!/usr/bin/perl
# The example's server: answers "GET N\n" with N bytes, then closes (a FIN). Perl because
# debian:12-slim has it; stands in for any TCP server.
use strict;
use warnings;
use IO::Socket::INET;

my $port = $ARGV[0] // 8080;
my $srv = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 64,
                                ReuseAddr => 1) or die "server: listen on $port: $!\n";
$| = 1;
# As a container's PID 1, a process gets only the signals it handles: without this, `compose down`
# waits its 10 s for SIGTERM to do nothing, then kills.
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
print "server: listening on $port\n";
$SIG{CHLD} = 'IGNORE';
while (my $c = $srv->accept) {
    next if fork; # one process per connection: a slow client holds up no other
    my $line = <$c> // '';
    my ($n) = $line =~ /^GET (\d+)/;
    $n = 0 unless defined $n;
    my $buf = 'x' x $n;
    while (length $buf) {
        my $w = syswrite($c, $buf) // last;
        substr($buf, 0, $w) = '';
    }
    close $c;
    exit 0;
}
