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
VOLUME ["/data"]
ENTRYPOINT ["node", "--initial-old-space-size=128", "bin/lklab.js"]
CMD ["start", "--host", "0.0.0.0"]
