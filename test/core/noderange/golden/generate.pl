#!/usr/bin/perl
# Regenerates test/core/noderange-golden.json by running xCAT's own NodeRange.pm over the
# cases in test/core/noderange-fixture.ts, against the fixture's nodes, groups and attributes.
# The database is replaced by the stub below, the way xCAT-test/unit/noderange_file_operator.t
# stubs it. Run from the repository root:
#
#   d=$(mktemp -d); mkdir $d/xCAT
#   git -C <xcat-core checkout> show HEAD:perl-xCAT/xCAT/NodeRange.pm > $d/xCAT/NodeRange.pm
#   git -C <xcat-core checkout> show HEAD:perl-xCAT/xCAT/Schema.pm    > $d/xCAT/Schema.pm
#   ./node_modules/.bin/bun test/core/noderange-golden/dump.ts \
#     | perl test/core/noderange-golden/generate.pl $d > test/core/noderange-golden.json
#   ./node_modules/.bin/biome format --write test/core/noderange-golden.json
#
# The committed file was made from xcat-core 7733d16f8de0fc36b80638c04a7033931fa13304.
#
# Missing names are collected with keepmissing=>1 so that NodeRange.pm's habit of clearing the
# list when it expands a ^file line or site.excludenodes does not hide them (xcimg reports all).
use strict;
use warnings;
no warnings 'uninitialized';
use JSON::PP;
use File::Temp qw(tempdir);

my $libdir = shift or die "usage: generate.pl <dir holding xCAT/NodeRange.pm and xCAT/Schema.pm>\n";
my $input = decode_json(do { local $/; <STDIN> });
my $fx = $input->{fixture};

BEGIN {
    $INC{'xCAT/Table.pm'} = 1;
    $INC{'xCAT/DBobjUtils.pm'} = 1;
    $INC{'xCAT/ExtTab.pm'} = 1;
}
our $FX;

package xCAT::Table;
sub new { my ($class, $tab) = @_; return bless { tab => $tab }, $class }
sub _set_use_cache { }
sub _build_cache   { }
sub DESTROY        { }
sub getAllAttribs {    # only nodelist (node, groups) is asked for
    my $self = shift;
    return map { { node => $_, groups => $main::FX->{nodes}{$_} } } sort keys %{ $main::FX->{nodes} };
}
sub getAllEntries {    # only nodegroup
    return [ map { { groupname => $_->{groupname}, grouptype => $_->{grouptype} } } @{ $main::FX->{nodegroups} } ];
}
sub getNodesAttribs {  # like Table.pm: a node without a row gets [undef]
    my ($self, $nodes, $cols) = @_;
    my %ret;
    foreach my $node (@$nodes) {
        my %row;
        my $has = 0;
        foreach my $key (keys %{ $main::FX->{attributes} }) {
            my ($t, $c) = split /\./, $key, 2;
            next unless $t eq $self->{tab};
            my $v = $main::FX->{attributes}{$key}{$node};
            next unless defined $v;
            $has = 1;
            $row{$c} = $v if grep { $_ eq $c } @$cols;
        }
        if ($self->{tab} eq 'nodelist' and exists $main::FX->{nodes}{$node}) {
            $has = 1;
            $row{groups} = $main::FX->{nodes}{$node} if grep { $_ eq 'groups' } @$cols;
        }
        $ret{$node} = [ ($has and %row) ? \%row : undef ];
    }
    return \%ret;
}

package xCAT::DBobjUtils;
sub getGroupMembers {
    my ($class, $name) = @_;
    foreach my $g (@{ $main::FX->{nodegroups} }) {
        return join(',', @{ $g->{dynamicMembers} || [] }) if $g->{groupname} eq $name;
    }
    return '';
}

package main;
$FX = $fx;
unshift @INC, $libdir;
require xCAT::Schema;
require xCAT::NodeRange;

my $dir = tempdir(CLEANUP => 1);
foreach my $name (keys %{ $fx->{files} }) {
    open(my $fh, '>', "$dir/$name") or die;
    print $fh $fx->{files}{$name};
    close $fh;
}

my @out;
foreach my $case (@{ $input->{cases} }) {
    my $expr = $case->{expr};
    (my $real = $expr) =~ s/\{dir\}/$dir/g;
    my $verify = exists $case->{verify} ? ($case->{verify} ? 1 : 0) : 1;
    local %ENV = %ENV;
    delete $ENV{XCAT_NODE_PREFIX};
    delete $ENV{XCAT_NODE_SUFFIX};
    %ENV = (%ENV, %{ $case->{env} || {} });
    local %::XCATSITEVALS = ();
    $::XCATSITEVALS{excludenodes} = $case->{excludenodes} if defined $case->{excludenodes};
    xCAT::NodeRange::retain_cache(0);
    my $before = scalar(xCAT::NodeRange::nodesmissed());
    my @nodes = eval { xCAT::NodeRange::noderange($real, $verify, 1, keepmissing => 1) };
    my $died = $@;
    my @missed = xCAT::NodeRange::nodesmissed();
    @missed = @missed[ $before .. $#missed ];
    my %rec = (%$case, nodes => \@nodes, missing => \@missed);
    if ($died) {
        $rec{died} = $died;
        # a die skips NodeRange.pm's decrement of its global recursion counter; wind it back
        xCAT::NodeRange::noderange('', 0, 0) for 1 .. 5000;
    }
    push @out, \%rec;
}
my $json = JSON::PP->new->canonical;
print "[\n", join(",\n", map { $json->encode($_) } @out), "\n]\n";
