# Builds the xingyi binary and runs it; the subcommand comes from the compose service.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p cli

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/xingyi xingyi && mkdir -p /var/lib/xingyi && chown xingyi /var/lib/xingyi
COPY --from=build /src/target/release/xingyi /usr/local/bin/xingyi
USER xingyi
WORKDIR /var/lib/xingyi
ENTRYPOINT ["/usr/local/bin/xingyi"]
