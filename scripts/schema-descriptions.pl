#!/usr/bin/perl
# Regenerate src/core/db/schema-descriptions.json, the table and column descriptions
# `xcimg table dump -d` prints (as tabdump -d does), from xCAT's perl-xCAT/xCAT/Schema.pm:
#   perl scripts/schema-descriptions.pl /path/to/xcat-core/perl-xCAT/xCAT/Schema.pm TABLE... \
#     > src/core/db/schema-descriptions.json
# Only the descriptions are taken: they are the documentation of the tables xcimg keeps.
use strict;
use warnings;
use JSON::PP;
my $schema = shift @ARGV or die "usage: $0 Schema.pm table...\n";
$INC{"xCAT/ExtTab.pm"} = 1;    # Schema.pm merges plug-in tables from it; xcimg has none
{ no warnings 'once'; %xCAT::ExtTab::ext_tabspec = (); }
require $schema;
my (%tables, %columns);
for my $t (@ARGV) {
    my $spec = $xCAT::Schema::tabspec{$t} or die "no table $t in $schema\n";
    $tables{$t} = $spec->{table_desc};
    $columns{$t} = { map { $_ => $spec->{descriptions}{$_} } @{ $spec->{cols} } };
}
print JSON::PP->new->canonical->pretty->encode({ tables => \%tables, columns => \%columns });
