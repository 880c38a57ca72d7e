# syntax=docker/dockerfile:1
# Two images from one build:
#   docker build -t backup-gateway .                                  the gateway (the default, last stage)
#   docker build --target simulator -t backup-gateway-simulator .     the appliance simulator (docker-compose.yml)
#
# Node: the image runs Node 24, the active LTS (22 is in maintenance, 20 is past end of life). CI tests on Node 20,
# which package.json still allows, and on this Node 24 (.ci/image-node.sh reads both ARGs below); test/*/deploy/ checks
# that every production package supports this image's Node (no EBADENGINE). The README's "Running in production"
# has the support matrix.
ARG NODE_VERSION=24
# The build stages' Node, whose headers native modules are compiled against: NODE_VERSION's major, so the same ABI,
# but 24.18.1, the last 24 whose node::ObjectWrap (header-only, so compiled into better-sqlite3 12) registers no
# environment cleanup hook. From 24.19 on, its destructor removes that hook and aborts the process (SIGABRT,
# "Assertion failed: (env) != nullptr" in node::RemoveEnvironmentCleanupHook) when the garbage collector frees a
# statement or a database while no JavaScript context is entered: when a worker thread ends, at exit, in some
# collections in between (nodejs/node#65446). The gateway stage runs the latest 24 all the same.
ARG NODE_BUILD_VERSION=24.18.1
ARG DEBIAN_RELEASE=trixie

# Compilers for native modules (better-sqlite3); only build stages have them.
FROM node:${NODE_BUILD_VERSION}-${DEBIAN_RELEASE}-slim AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# better-sqlite3 compiled here, never its prebuilt binary from the project's release downloads (prebuild-install):
# the addon the image ships is then the one CI compiles and tests, with the same headers.
ENV npm_config_build_from_source=better-sqlite3
WORKDIR /app
COPY package.json package-lock.json ./

# TypeScript to JavaScript: the gateway (dist/, with the operator console's bundle in dist/console-assets/) and the
# tools (dist-tools/), with every dependency, dev ones too.
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY tools ./tools
COPY console ./console
RUN npm run build

# What the gateway needs at run time and nothing else, native modules built here for the image's Node.
# Of better-sqlite3's build only the addon is loaded at run time; its SQLite sources and object files (~25 MB) stay.
FROM toolchain AS production-dependencies
RUN npm ci --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv better_sqlite3.node build/Release/ \
 && npm cache clean --force

# The appliance simulator, standing in for vCenters in docker-compose.yml. Not for production.
# package.json only for "type": "module"; the simulator has no dependencies.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS simulator
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/dist-tools/simulator ./dist-tools/simulator
USER 1000:1000
EXPOSE 8443
ENTRYPOINT ["node", "dist-tools/simulator/cli.js"]
CMD ["--help"]

# The gateway: dist/ and production node_modules, no compilers, no sources, no tools.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS gateway
ENV NODE_ENV=production
# PORT overrides the config file's port, so the port the HEALTHCHECK probes is always the one listened on.
ENV PORT=3000
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The SQLite audit (data/audit.db) and the audit spool default to data/: the one directory the gateway's user may
# write. Mount a volume there (docker-compose.yml, deploy/kubernetes/) to keep it across containers.
RUN mkdir -p data && chown 1000:1000 data
# Numeric: Kubernetes can only verify runAsNonRoot against a numeric user (1000 is the base image's `node`).
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; the gateway drains in-flight requests (shutdownGraceMs),
# logs its appliance sessions out and exits 0.
# The V8 flags of package.json's start script (test/process/deploy/dockerfile.spec.ts keeps them equal).
CMD ["node", "--max-semi-space-size=16", "--max-old-space-size=160", "dist/main.js"]
