# Breakwater in a container: the packed tarball installed with --omit=dev, run as a non-root user.
# The same steps as scripts/package-check.sh, which CI runs (pack → install --omit=dev into an empty
# folder → start from there → /ready answers 200); change one, change the other.
#
#   docker build -t breakwater .
#   docker run --init -p 8080:8080 -p 9901:9901 \
#     -v "$PWD/breakwater.toml:/etc/breakwater/breakwater.toml:ro" \
#     -e BREAKWATER_ADMIN_TOKEN=… breakwater
#
# The config listens on 0.0.0.0 to be reachable from outside the container (see the README's
# "Install and run in production").

# --- build: a development install (TypeScript), then `npm pack`, whose prepack builds dist/ ---
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
  && npm pack --pack-destination /out \
  && mv /out/breakwater-*.tgz /out/breakwater.tgz

# --- runtime: the tarball alone, without devDependencies ---
FROM node:24-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /out/breakwater.tgz /tmp/breakwater.tgz
WORKDIR /opt/breakwater
RUN npm install --omit=dev --no-audit --no-fund /tmp/breakwater.tgz \
  && rm /tmp/breakwater.tgz \
  && npm cache clean --force \
  && mkdir -p /etc/breakwater
# the image's unprivileged user: it can read the install and the mounted config, and change neither
USER node
# the proxy (server.listen) and the admin listener (server.admin_listen: /health, /ready, /metrics)
EXPOSE 8080 9901
# Breakwater drains on SIGTERM (up to 10 s) and exits 0; give `docker stop` more than that (-t 15)
STOPSIGNAL SIGTERM
# /ready: 200 while at least one upstream admits requests. No curl in a slim image: node's fetch.
# Another admin port or scheme: run with -e BREAKWATER_READY_URL=http://127.0.0.1:<port>/ready.
ENV BREAKWATER_READY_URL=http://127.0.0.1:9901/ready
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.BREAKWATER_READY_URL).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/opt/breakwater/node_modules/.bin/breakwater"]
CMD ["--config", "/etc/breakwater/breakwater.toml"]
