#!/usr/bin/perl
# Write the GeoIP test databases from networks.json (beside this script) into OUTDIR:
#   LogsiftTest-Country.mmdb  (GeoLite2-Country layout: country.iso_code, registered_country)
#   LogsiftTest-ASN.mmdb      (GeoLite2-ASN layout: autonomous_system_number/_organization)
# with Debian's libmaxmind-db-writer-perl. Both are IPv6 trees holding IPv4 networks too.
# The test networks include reserved space (253.0.0.0/8, 2001:db8::/32) because the anonymised
# Stratus Red Team logs use such addresses, so reserved networks are kept.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use MaxMind::DB::Writer::Tree;

my $outdir = shift @ARGV or die "usage: make_mmdb.pl OUTDIR\n";
my $src = File::Spec->catfile(dirname(__FILE__), 'networks.json');
open(my $in, '<:raw', $src) or die "make_mmdb.pl: cannot read $src: $!\n";
my $nets = JSON::PP->new->utf8->decode(do { local $/; <$in> });
close($in);

my %types = (
    country                        => 'map',
    registered_country             => 'map',
    iso_code                       => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub tree {
    my ($type) = @_;
    return MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => "logsift test data ($type), not real GeoIP" },
        map_key_type_callback    => sub { $types{ $_[0] } },
        remove_reserved_networks => 0,
    );
}

sub write_db {
    my ($t, $name) = @_;
    my $path = File::Spec->catfile($outdir, $name);
    open(my $fh, '>:raw', $path) or die "make_mmdb.pl: cannot write $path: $!\n";
    $t->write_tree($fh);
    close($fh) or die "make_mmdb.pl: cannot write $path: $!\n";
}

my $country = tree('LogsiftTest-Country');
for my $n (@{ $nets->{country} }) {
    my %data;
    $data{country} = { iso_code => $n->{iso_code} } if $n->{iso_code};
    $data{registered_country} = { iso_code => $n->{registered_iso_code} }
        if $n->{registered_iso_code};
    $country->insert_network($n->{net}, \%data);
}
write_db($country, 'LogsiftTest-Country.mmdb');

my $asn = tree('LogsiftTest-ASN');
for my $n (@{ $nets->{asn} }) {
    $asn->insert_network($n->{net},
        { autonomous_system_number => $n->{number}, autonomous_system_organization => $n->{org} });
}
write_db($asn, 'LogsiftTest-ASN.mmdb');
