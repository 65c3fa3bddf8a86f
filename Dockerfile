# One image for the worker and the API (different commands). Workflow code is pre-bundled at build time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The staff console: static files served by the API under /console (api/routes/console.ts).
COPY --from=build /app/console ./dist/console
# Export archives are written by the worker and served by the API: a shared volume is mounted here.
RUN mkdir -p /app/.data/exports && chown -R node:node /app/.data
USER node
CMD ["node", "dist/api/main.js"]
