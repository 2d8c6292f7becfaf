#!/bin/sh
# dotenv.sh KEY FILE: the value Compose would read for KEY from FILE (an .env file): the last
# `KEY=value` line, `export ` allowed; "double" or 'single' quoted values as written; an
# unquoted value ends at " #" (a comment) and loses surrounding blanks. Nothing if absent.
[ -f "$2" ] || exit 0
sed -n -E "/^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=/!d
s/^[^=]*=[[:space:]]*//
/^\"/{s/^\"([^\"]*)\".*/\\1/p;d;}
/^'/{s/^'([^']*)'.*/\\1/p;d;}
s/[[:space:]]+#.*//
s/[[:space:]]+\$//
p" "$2" | tail -n 1
