// Signed out: the sign-in form, or the sign-up form behind `Create an account`.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { client, startSession } from "./session";
import { code, describe, graphqlErrors, rateLimited } from "./errors";
import { LoginDocument, SignupDocument } from "./operations";
import { emailError, nameError, normaliseEmail, passwordError } from "./validation";
import { Field } from "./Field";

type FieldName = "email" | "password" | "name";
type Errors = Partial<Record<FieldName, string>>;

/** Which of our inputs a server error's `extensions.field` names. */
function fieldOf(field: unknown): FieldName | undefined {
  if (typeof field !== "string") return undefined;
  const last = field.split(".").pop()?.toLowerCase() ?? "";
  if (last.includes("email")) return "email";
  if (last.includes("password")) return "password";
  if (last === "name") return "name";
  return undefined;
}

export function AuthForm({ alert, notice }: { alert?: string; notice?: string }) {
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | undefined>(alert);
  const [busy, setBusy] = useState(false);
  const refs = { email: useRef<HTMLInputElement>(null), password: useRef<HTMLInputElement>(null), name: useRef<HTMLInputElement>(null) };
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);

  useEffect(() => {
    performance.mark("todo:interactive");
  }, []);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    heading.current?.focus();
  }, [mode]);

  const signup = mode === "signup";

  function show(next: Errors, message?: string) {
    setErrors(next);
    setFormError(message);
    const firstBad = (["email", "password", "name"] as const).find((f) => next[f]);
    if (firstBad) refs[firstBad].current?.focus();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const next: Errors = {};
    const emailProblem = emailError(email);
    if (emailProblem) next.email = emailProblem;
    if (signup) {
      const p = passwordError(password);
      if (p) next.password = p;
      const n = nameError(name);
      if (n) next.name = n;
    } else if (password === "") {
      next.password = "Enter your password.";
    }
    if (Object.keys(next).length) return show(next);
    setErrors({});
    setFormError(undefined);
    setBusy(true);
    try {
      const input = { email: normaliseEmail(email), password };
      const payload = signup
        ? (await client.mutate({ mutation: SignupDocument, variables: { input: { ...input, name: name.trim() || null } } })).data?.signup
        : (await client.mutate({ mutation: LoginDocument, variables: { input } })).data?.login;
      if (!payload) throw new Error("The server sent no session.");
      startSession(payload);
    } catch (err) {
      setBusy(false);
      const gqlErrors = graphqlErrors(err);
      const fieldErrors: Errors = {};
      let message: string | undefined;
      for (const ge of gqlErrors) {
        const c = code(ge);
        if (c === "CONFLICT") fieldErrors.email = "An account with this email already exists. Sign in instead?";
        else if (c === "UNAUTHENTICATED" && !signup) message = "Invalid email or password";
        else if (c === "TOO_MANY_REQUESTS") message = rateLimited(ge);
        else if (c === "BAD_USER_INPUT" && fieldOf(ge.extensions?.field)) fieldErrors[fieldOf(ge.extensions?.field)!] = ge.message;
        else message ??= ge.message;
      }
      if (!gqlErrors.length) message = describe(err);
      show(fieldErrors, message);
    }
  }

  function switchTo(next: "signin" | "signup") {
    setMode(next);
    setErrors({});
    setFormError(undefined);
  }

  return (
    <main className="auth">
      <h1 className="brand">Todo</h1>
      <section className="card" aria-labelledby="auth-heading">
        <h2 id="auth-heading" ref={heading} tabIndex={-1}>{signup ? "Create an account" : "Sign in"}</h2>
        {notice && !formError && <p role="status" className="notice">{notice}</p>}
        {formError && <p role="alert" className="alert" id="form-error">{formError}</p>}
        <form onSubmit={submit} noValidate aria-describedby={formError ? "form-error" : undefined}>
          <Field id="email" label="Email" error={errors.email}>
            {(props) => <input {...props} ref={refs.email} type="email" autoComplete={signup ? "email" : "username"} inputMode="email" spellCheck={false} value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
          <Field id="password" label="Password" hint={signup ? "8 to 72 bytes (a letter outside ASCII counts 2 to 4)." : undefined} error={errors.password}>
            {(props) => <input {...props} ref={refs.password} type="password" autoComplete={signup ? "new-password" : "current-password"} value={password} onChange={(e) => setPassword(e.target.value)} />}
          </Field>
          {signup && (
            <Field id="name" label="Name" hint="Optional." error={errors.name}>
              {(props) => <input {...props} ref={refs.name} type="text" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
          )}
          <button type="submit" className="primary" disabled={busy}>{signup ? "Sign up" : "Sign in"}</button>
        </form>
        <p className="switch">
          {signup ? (
            <button type="button" className="link" onClick={() => switchTo("signin")}>I already have an account</button>
          ) : (
            <button type="button" className="link" onClick={() => switchTo("signup")}>Create an account</button>
          )}
        </p>
      </section>
    </main>
  );
}
