#!/bin/sh
# LocalStack ready hook. It deliberately creates nothing: compose's `bootstrap` container
# runs `gfnctl infra apply`, the same code for LocalStack and moto (which has no hooks), so
# both emulators get identical queues, DLQs, topics, filters and notifications from
# contracts.DefaultTopology. The hook only marks the point where LocalStack's services are up,
# so the compose healthcheck (/_localstack/init/ready) passes after it.
set -eu
echo "gfn: LocalStack ready; the topology is applied by the bootstrap service (gfnctl infra apply)"
