#!/usr/bin/perl
# Regenerates the golden manifests in this directory by running XML::Simple itself, the way
# xCAT's imgexport calls it (xCAT-server/lib/xcat/plugins/imgport.pm make_bundle), and records
# how XMLin (imgimport's reader) sees each one. Needs Debian's libxml-simple-perl (2.25).
# Run from the repository root:
#
#   perl test/core/bundle/golden/generate.pl test/core/bundle/golden
#
# Input: <dir>/cases.json, {"name": <manifest data as imgexport builds it>, ...}.
# Output: <dir>/<name>.xml (XMLout bytes) and <dir>/xmlin.json ({"name": XMLin result}).
use strict;
use warnings;
use XML::Simple;
use JSON::PP;

my $dir = shift or die "usage: generate.pl <golden dir>\n";
open(my $in, '<:raw', "$dir/cases.json") or die "cases.json: $!";
my $cases = JSON::PP->new->utf8->decode(do { local $/; <$in> });
close($in);
my %seen;
for my $name (sort keys %$cases) {
    my $xml = XML::Simple->new(RootName => 'xcatimage')->XMLout($cases->{$name}, noattr => 1, xmldecl => '<?xml version="1.0"?>');
    open(my $out, '>:utf8', "$dir/$name.xml") or die "$name.xml: $!";
    print $out $xml;
    close($out);
    $seen{$name} = XML::Simple->new->XMLin("$dir/$name.xml");
}
for my $extra (glob("$dir/read-*.xml")) {
    my ($name) = $extra =~ m{/(read-[^/]+)\.xml$};
    $seen{$name} = XML::Simple->new->XMLin($extra);
}
open(my $out, '>:raw', "$dir/xmlin.json") or die "xmlin.json: $!";
print $out JSON::PP->new->utf8->canonical->pretty->encode(\%seen);
close($out);
