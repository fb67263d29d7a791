# Stand-in base images made from Debian packages, for machines where no image registry
# answers (scripts/docker_bases.sh builds them; the test suite uses them). Each carries the
# machine's own CA certificates, since package registries may be reached through TLS that
# only those validate, and the variables that make Node.js, npm and Deno use that bundle.
#
#   p7-base/maven    JDK 17 and Maven      (stands in for maven:3.9-eclipse-temurin-17)
#   p7-base/node     Node.js and npm       (stands in for node:24-slim)
#   p7-base/runtime  Java 17 runtime       (stands in for eclipse-temurin:17-jre-noble)
#   p7-base/postgres Debian's PostgreSQL   (stands in for postgres:16: the same variables
#                    POSTGRES_USER, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD=trust, the same
#                    PGDATA, pg_isready, a server on port 5432 as user postgres)
ARG DEBIAN=p7-base/debian:bookworm

FROM ${DEBIAN} AS trust
COPY certs/ /usr/local/share/ca-certificates/
# The certificates first: installing the JDK builds Java's trust store from them.
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates && \
    update-ca-certificates && rm -rf /var/lib/apt/lists/*
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt

FROM trust AS maven
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven && \
    rm -rf /var/lib/apt/lists/*

FROM trust AS node
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm && \
    rm -rf /var/lib/apt/lists/*

FROM trust AS runtime
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless && \
    rm -rf /var/lib/apt/lists/*

FROM trust AS postgres
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql && \
    rm -rf /var/lib/apt/lists/* && \
    ln -s /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pg_ctl \
      /usr/lib/postgresql/*/bin/postgres /usr/local/bin/
COPY postgres-standin.sh /usr/local/bin/
ENV PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
CMD ["bash", "/usr/local/bin/postgres-standin.sh"]
