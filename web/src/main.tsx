import { ApolloProvider } from "@apollo/client/react";
import { StrictMode, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import { AuthForm } from "./AuthForm";
import { boot, client, getState, subscribe } from "./session";
import { Tasks } from "./Tasks";
import "./styles.css";

function App() {
  const state = useSyncExternalStore(subscribe, getState);
  if (state.status === "loading") {
    return (
      <main className="auth">
        <h1 className="brand">Todo</h1>
        <p role="status">Signing you in…</p>
      </main>
    );
  }
  if (state.status === "signedOut") return <AuthForm key={`${state.alert}|${state.notice}`} alert={state.alert} notice={state.notice} />;
  return <Tasks key={state.user.id} user={state.user} />;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App />
    </ApolloProvider>
  </StrictMode>,
);
boot();
