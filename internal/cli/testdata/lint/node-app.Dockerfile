# A Node.js web app with an nginx front: dependencies, build, then serve.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci

FROM deps AS build
COPY . .
RUN npm run build

FROM nginx:1.27-alpine
COPY --from=build /app/dist /usr/share/nginx/html
COPY --from=nginx:latest /etc/nginx/nginx.conf /etc/nginx/nginx.conf
EXPOSE 80
