# Builds the xingyi binary and runs it; the subcommand comes from the compose service.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p cli

FROM debian:bookworm-slim
# /var/lib/xingyi/secrets is where compose mounts the shared volume holding the HS256 secret.
RUN useradd --system --home /var/lib/xingyi xingyi && mkdir -p /var/lib/xingyi/secrets && chown -R xingyi /var/lib/xingyi && chmod 700 /var/lib/xingyi/secrets
COPY --from=build /src/target/release/xingyi /usr/local/bin/xingyi
USER xingyi
WORKDIR /var/lib/xingyi
ENTRYPOINT ["/usr/local/bin/xingyi"]
