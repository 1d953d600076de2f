#!/bin/sh
# Harmless: a renamed /bin/true started with a miner's command line.
cp /bin/true /tmp/xmrig
/tmp/xmrig -o stratum+tcp://pool.example.test:3333 -u wallet --donate-level 1
exit 0
