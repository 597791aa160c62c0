// GraphiQL for Fleetgraph, served from /graphql with no request leaving the machine.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import React from "react";
import { createRoot } from "react-dom/client";
import "graphiql/graphiql.css";

const page = document.getElementById("graphiql");
const config = JSON.parse(page.dataset.config || "{}");
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${location.pathname}`;

const fetcher = createGraphiQLFetcher({
  url: location.pathname,
  subscriptionUrl: wsUrl,
  wsConnectionParams: () => {
    // the websocket carries the token in connection_init, taken from the Headers tab
    try {
      const headers = JSON.parse(localStorage.getItem("graphiql:headers") || "{}");
      return headers.Authorization ? { Authorization: headers.Authorization } : {};
    } catch {
      return {};
    }
  },
});

createRoot(page).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.defaultQuery,
    defaultHeaders: config.defaultHeaders,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: true,
  }),
);
