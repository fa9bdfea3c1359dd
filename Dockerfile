# The lab's image for docker-compose.yml: every component is `lklab <command>` in this image.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The kafkajs patch (patches/) is applied by the postinstall script of npm ci.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev
ENV LKLAB_DATA_DIR=/data
# glibc malloc settings of every lab process (LAB_MALLOC_ENV in kernel/util/node-flags.ts).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
VOLUME ["/data"]
ENTRYPOINT ["node", "--initial-old-space-size=80", "--max-semi-space-size=8", "bin/lklab.js"]
CMD ["start", "--host", "0.0.0.0"]
