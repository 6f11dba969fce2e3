#!/bin/sh
# librdkafka's mock cluster hosted by kcat (as the connector tests do): one broker, topics auto-created with 4
# partitions. It listens on 127.0.0.1 only, so the replicas share this container's network namespace. The address
# it picked goes to /run/kafka/bootstrap for them.
set -eu
rm -f /run/kafka/bootstrap
kcat -b mock:1 -X test.mock.num.brokers=1 -u -C -o end -t readings -d mock 2>&1 >/dev/null | while IFS= read -r line; do
  case "$line" in
    *"Mock cluster enabled"*)
      echo "$line" | sed -n 's/.*replaced with \([^ ]*\).*/\1/p' > /run/kafka/bootstrap.partial
      mv /run/kafka/bootstrap.partial /run/kafka/bootstrap
      echo "mock Kafka cluster at $(cat /run/kafka/bootstrap)";;
  esac
done
