# StreamMl host image. Two ways to build it:
#   docker build -t streamml .                      # compiles in the .NET SDK image (the default for users)
#   docker build --target prebuilt -t streamml .    # copies artifacts/streamml, published beforehand with
#       dotnet publish host/StreamMl.Host -c Release -r linux-x64 --self-contained -o artifacts/streamml
#   (needs BuildKit, DOCKER_BUILDKIT=1, so the SDK stage is skipped; scripts/container-test.sh builds it this way)
# BASE_IMAGE is any glibc Linux with what .NET needs (CA certificates, ICU, OpenSSL, zlib): the official runtime-deps
# image by default; the container test passes a Debian root filesystem made with debootstrap and `docker import`ed.
# The published host is self-contained, so the base needs no .NET runtime. docs/deployment.md explains the settings.
ARG BASE_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY . .
RUN dotnet publish host/StreamMl.Host -c Release -r linux-x64 --self-contained true -o /out --nologo

FROM ${BASE_IMAGE} AS runtime
# A fixed non-root user without a passwd entry (the runtime-deps image's `app` user has the same id); the files
# belong to root and are read-only for it, so the root filesystem can be mounted read-only. Writable places are the
# mounted volumes and /tmp (mount a tmpfs there with a read-only root).
ARG APP_UID=1654
ENV HOME=/tmp \
    TMPDIR=/tmp \
    STREAMML_LISTEN_ADDRESS=0.0.0.0 \
    STREAMML_PORT=50051 \
    STREAMML_METRICS_PORT=9464 \
    STREAMML_REGISTRY=/models \
    STREAMML_SPECS=/specs \
    STREAMML_LOG_FORMAT=json \
    STREAMML_LOG_LEVEL=Information \
    DOTNET_gcServer=1 \
    DOTNET_GCDynamicAdaptationMode=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /app
EXPOSE 50051 9464
USER ${APP_UID}:${APP_UID}
# `streamml health` asks the host's grpc.health.v1 service: SERVING once the specs' pipelines run (models loaded), and
# NOT_SERVING from the moment SIGTERM starts the drain.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/app/streamml", "health", "--timeout", "4"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/streamml"]
CMD ["serve"]

FROM runtime AS prebuilt
COPY artifacts/streamml/ /app/

FROM runtime AS final
COPY --from=build /out/ /app/
