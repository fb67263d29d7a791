# p7 in one image: a single-node KRaft Kafka broker as the command, and the four entry
# scripts as standalone binaries in the working directory, writing to /files.
#
#   docker build . -t p7
#   docker run -d -v ./files:/files --name=p7 p7
#   docker exec p7 ./producer
#
# Every RUN, CMD and HEALTHCHECK command below is a project command that the test suite runs
# too (tests/docker_test.ts checks that list); the base images and `deno compile` are the
# parts only a Docker build exercises.

# The broker's jars, fetched by the same script and pom.xml as on a developer's machine.
FROM maven:3.9-eclipse-temurin-17 AS kafka
WORKDIR /p7
COPY kafka/kafka.sh kafka/pom.xml kafka/
ENV P7_KAFKA_HOME=/opt/kafka
RUN bash kafka/kafka.sh fetch

# The binaries, built by the Deno that tools/package.json pins (installed from npm by ./p7).
FROM node:24-slim AS deno
WORKDIR /p7
COPY p7 deno.json deno.lock producer.ts debug.ts consumer.ts plot.ts ./
COPY tools/package.json tools/package-lock.json tools/
COPY lib/ lib/
RUN ./p7 compile

# glibc, not Alpine: compiled Deno binaries need it. Java 17 runs the broker.
FROM eclipse-temurin:17-jre-noble
WORKDIR /p7
# The broker listens on every interface and advertises localhost, which the binaries use
# inside the container and which `-p 9092:9092` maps on the host.
ENV P7_KAFKA_HOME=/opt/kafka \
    P7_KAFKA_STATE=/var/lib/p7-kafka \
    KAFKA_HOST=0.0.0.0 \
    KAFKA_BROKERS=localhost:9092 \
    P7_FILES=/files
COPY --from=kafka /opt/kafka/jars /opt/kafka/jars
COPY kafka/kafka.sh kafka/pom.xml kafka/
COPY --from=deno /p7/dist/ ./
EXPOSE 9092
HEALTHCHECK --interval=3s --timeout=3s --start-period=60s --retries=3 \
    CMD ["bash", "kafka/kafka.sh", "status"]
# In the foreground, so `docker stop` reaches Java's shutdown hook; storage is formatted on
# the first start only.
CMD ["bash", "kafka/kafka.sh", "run"]
