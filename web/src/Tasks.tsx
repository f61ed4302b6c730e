// Signed in: one's own tasks, newest first, 20 a page, live from other tabs.
import { useApolloClient, useQuery, useSubscription } from "@apollo/client/react";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { placeTask, removeTask } from "./cache";
import { describe, graphqlErrors } from "./errors";
import { Field } from "./Field";
import type { OrderDirection, TaskFieldsFragment, TaskOrderField } from "./gql/graphql";
import { CreateTaskDocument, DeleteTaskDocument, SetTaskCompletedDocument, TaskEventsDocument, TasksDocument, UpdateTaskDocument } from "./operations";
import { logout, onReconnect, type User } from "./session";
import { descriptionError, titleError } from "./validation";

const PAGE = 20;
type Show = "all" | "active" | "completed";
const SORTS: { value: string; label: string; field: TaskOrderField; direction: OrderDirection }[] = [
  { value: "CREATED_AT_DESC", label: "Newest first", field: "CREATED_AT", direction: "DESC" },
  { value: "CREATED_AT_ASC", label: "Oldest first", field: "CREATED_AT", direction: "ASC" },
  { value: "UPDATED_AT_DESC", label: "Recently changed", field: "UPDATED_AT", direction: "DESC" },
  { value: "UPDATED_AT_ASC", label: "Least recently changed", field: "UPDATED_AT", direction: "ASC" },
  { value: "TITLE_ASC", label: "Title A to Z", field: "TITLE", direction: "ASC" },
  { value: "TITLE_DESC", label: "Title Z to A", field: "TITLE", direction: "DESC" },
];

let tempIds = 0;
const now = () => new Date().toISOString();

export function Tasks({ user }: { user: User }) {
  const client = useApolloClient();
  const [show, setShow] = useState<Show>("all");
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState(SORTS[0].value);
  const [status, setStatus] = useState("");
  const [alert, setAlert] = useState<string | undefined>();
  const [newTitle, setNewTitle] = useState("");
  const [newError, setNewError] = useState<string | undefined>();
  const [loggingOut, setLoggingOut] = useState(false);
  const newInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const t = setTimeout(() => setSearch(searchText.trim()), 300);
    return () => clearTimeout(t);
  }, [searchText]);

  const order = SORTS.find((s) => s.value === sort) ?? SORTS[0];
  const variables = useMemo(() => {
    const filter: { completed?: boolean; search?: string } = {};
    if (show !== "all") filter.completed = show === "completed";
    if (search) filter.search = search;
    return { first: PAGE, filter, orderBy: { field: order.field, direction: order.direction } };
  }, [show, search, order.field, order.direction]);

  const { data, loading, error, fetchMore, refetch } = useQuery(TasksDocument, {
    variables,
    fetchPolicy: "cache-and-network",
    nextFetchPolicy: "cache-first",
    notifyOnNetworkStatusChange: true,
  });
  const [loadingMore, setLoadingMore] = useState(false);

  // Live updates from other tabs and devices (CONTRACT §9).
  useSubscription(TaskEventsDocument, {
    onData: ({ client: c, data: result }) => {
      const event = result.data?.taskEvents;
      if (!event) return;
      if (event.kind === "DELETED") removeTask(c.cache, event.taskId);
      else if (event.task) placeTask(c.cache, event.task);
    },
  });
  // After the socket was lost (not restarted for a fresh token), catch up.
  useEffect(() => {
    onReconnect(() => void refetch());
    return () => onReconnect(null);
  }, [refetch]);

  const tasks = data?.tasks;
  useEffect(() => {
    if (tasks) performance.mark("todo:tasks-ready");
  }, [tasks]);

  const announce = (message: string) => {
    setStatus("");
    setTimeout(() => setStatus(message), 20);
  };
  const failed = (what: string, e: unknown) => {
    setAlert(`${what}: ${describe(e)}`);
  };

  async function addTask(e: FormEvent) {
    e.preventDefault();
    const problem = titleError(newTitle);
    if (problem) {
      setNewError(problem);
      newInput.current?.focus();
      return;
    }
    const title = newTitle.trim();
    setNewError(undefined);
    setAlert(undefined);
    setNewTitle("");
    const at = now();
    try {
      await client.mutate({
        mutation: CreateTaskDocument,
        variables: { input: { title } },
        optimisticResponse: { createTask: { __typename: "Task", id: `temp-${++tempIds}`, title, description: null, completed: false, createdAt: at, updatedAt: at } },
        update: (cache, { data: d }) => d?.createTask && placeTask(cache, d.createTask),
      });
      announce(`Task added: ${title}`);
    } catch (err) {
      setNewTitle((current) => current || title);
      const field = graphqlErrors(err)[0]?.extensions?.field;
      if (field === "title" || field === "input.title") setNewError(describe(err));
      failed(`Could not add “${title}”`, err);
    }
  }

  async function toggle(task: TaskFieldsFragment) {
    setAlert(undefined);
    const completed = !task.completed;
    try {
      await client.mutate({
        mutation: SetTaskCompletedDocument,
        variables: { id: task.id, completed },
        optimisticResponse: { setTaskCompleted: { ...task, __typename: "Task", completed, updatedAt: now() } },
        update: (cache, { data: d }) => d?.setTaskCompleted && placeTask(cache, d.setTaskCompleted),
      });
      announce(`${completed ? "Completed" : "Not completed"}: ${task.title}`);
    } catch (err) {
      failed(`Could not change “${task.title}”`, err);
    }
  }

  async function save(task: TaskFieldsFragment, title: string, description: string | null) {
    setAlert(undefined);
    try {
      await client.mutate({
        mutation: UpdateTaskDocument,
        variables: { id: task.id, input: { title, description } },
        optimisticResponse: { updateTask: { ...task, __typename: "Task", title, description, updatedAt: now() } },
        update: (cache, { data: d }) => d?.updateTask && placeTask(cache, d.updateTask),
      });
      announce(`Task saved: ${title}`);
    } catch (err) {
      failed(`Could not save “${task.title}”`, err);
    }
  }

  async function remove(task: TaskFieldsFragment) {
    setAlert(undefined);
    newInput.current?.focus();
    try {
      await client.mutate({
        mutation: DeleteTaskDocument,
        variables: { id: task.id },
        optimisticResponse: { deleteTask: task.id },
        update: (cache, { data: d }) => d?.deleteTask && removeTask(cache, d.deleteTask),
      });
      announce(`Task deleted: ${task.title}`);
    } catch (err) {
      failed(`Could not delete “${task.title}”`, err);
    }
  }

  async function more() {
    if (!tasks?.pageInfo.endCursor) return;
    setLoadingMore(true);
    try {
      const res = await fetchMore({ variables: { after: tasks.pageInfo.endCursor } });
      announce(`${res.data.tasks.nodes.length} more tasks loaded`);
    } catch (err) {
      failed("Could not load more tasks", err);
    } finally {
      setLoadingMore(false);
    }
  }

  const count = tasks?.totalCount ?? 0;
  const showLabel = { all: "", active: " open", completed: " completed" }[show];

  return (
    <div className="app">
      <header className="top">
        <h1 className="brand">Todo</h1>
        <p className="who">
          <span className="sr-only">Signed in as </span>
          <span className="email">{user.email}</span>
        </p>
        <button
          type="button"
          disabled={loggingOut}
          onClick={() => {
            setLoggingOut(true);
            void logout();
          }}
        >
          Log out
        </button>
      </header>
      <main>
        {alert && (
          <div role="alert" className="alert">
            <span>{alert}</span>
            <button type="button" className="link" onClick={() => setAlert(undefined)}>Dismiss</button>
          </div>
        )}
        <form className="new-task" onSubmit={addTask} noValidate>
          <Field id="new-task" label="New task" error={newError}>
            {(props) => (
              <div className="row">
                <input {...props} ref={newInput} type="text" autoComplete="off" maxLength={1000} value={newTitle} onChange={(e) => setNewTitle(e.target.value)} />
                <button type="submit" className="primary">Add task</button>
              </div>
            )}
          </Field>
        </form>

        <div className="controls">
          <div className="filters" role="group" aria-label="Show">
            {(["all", "active", "completed"] as const).map((s) => (
              <button key={s} type="button" aria-pressed={show === s} onClick={() => setShow(s)}>
                {s === "all" ? "All" : s === "active" ? "Active" : "Completed"}
              </button>
            ))}
          </div>
          <div className="search">
            <label htmlFor="search">Search</label>
            <input id="search" type="search" autoComplete="off" value={searchText} onChange={(e) => setSearchText(e.target.value)} />
          </div>
          <div className="sort">
            <label htmlFor="sort">Sort</label>
            <select id="sort" value={sort} onChange={(e) => setSort(e.target.value)}>
              {SORTS.map((s) => (
                <option key={s.value} value={s.value}>{s.label}</option>
              ))}
            </select>
          </div>
        </div>

        {error && !tasks && (
          <div role="alert" className="alert">
            <span>Could not load the tasks: {describe(error)}</span>
            <button type="button" className="link" onClick={() => void refetch()}>Try again</button>
          </div>
        )}
        <p className="count" aria-live="polite">
          {tasks ? `${count}${showLabel} task${count === 1 ? "" : "s"}${search ? ` matching “${search}”` : ""}` : loading ? "Loading tasks…" : ""}
        </p>
        <ul aria-label="Tasks" className="tasks" aria-busy={loading && !tasks}>
          {tasks?.nodes.map((task) => (
            <TaskItem key={task.id} task={task} onToggle={toggle} onSave={save} onDelete={remove} />
          ))}
        </ul>
        {tasks?.nodes.length === 0 && <p className="empty">{search || show !== "all" ? "No task matches." : "No tasks yet. Add one above."}</p>}
        {tasks?.pageInfo.hasNextPage && (
          <button type="button" className="more" onClick={() => void more()} disabled={loadingMore}>
            Load more
          </button>
        )}
        <div role="status" className="sr-only">{status}</div>
      </main>
    </div>
  );
}

function TaskItem({ task, onToggle, onSave, onDelete }: {
  task: TaskFieldsFragment;
  onToggle: (t: TaskFieldsFragment) => void;
  onSave: (t: TaskFieldsFragment, title: string, description: string | null) => Promise<void>;
  onDelete: (t: TaskFieldsFragment) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [errors, setErrors] = useState<{ title?: string; description?: string }>({});
  const editButton = useRef<HTMLButtonElement>(null);
  const titleInput = useRef<HTMLInputElement>(null);
  const wasEditing = useRef(false);
  const pending = task.id.startsWith("temp-");

  useEffect(() => {
    if (editing) titleInput.current?.focus();
    else if (wasEditing.current) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  function startEdit() {
    setTitle(task.title);
    setDescription(task.description ?? "");
    setErrors({});
    setEditing(true);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const next = { title: titleError(title) ?? undefined, description: descriptionError(description) ?? undefined };
    if (next.title || next.description) {
      setErrors(next);
      if (next.title) titleInput.current?.focus();
      return;
    }
    setEditing(false);
    void onSave(task, title.trim(), description.trim() === "" ? null : description);
  }

  if (editing) {
    return (
      <li className="task editing">
        <form onSubmit={submit} noValidate onKeyDown={(e) => e.key === "Escape" && setEditing(false)} aria-label={`Edit ${task.title}`}>
          <Field id={`title-${task.id}`} label="Title" error={errors.title}>
            {(props) => <input {...props} ref={titleInput} type="text" value={title} onChange={(e) => setTitle(e.target.value)} />}
          </Field>
          <Field id={`description-${task.id}`} label="Description" error={errors.description}>
            {(props) => <textarea {...props} rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />}
          </Field>
          <div className="row end">
            <button type="button" onClick={() => setEditing(false)}>Cancel</button>
            <button type="submit" className="primary">Save</button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className={`task${task.completed ? " done" : ""}`}>
      <input type="checkbox" id={`done-${task.id}`} checked={task.completed} disabled={pending} onChange={() => onToggle(task)} />
      <div className="text">
        <label htmlFor={`done-${task.id}`}>{task.title}</label>
        {task.description && <p className="description">{task.description}</p>}
      </div>
      <div className="actions">
        <button type="button" ref={editButton} aria-label={`Edit ${task.title}`} disabled={pending} onClick={startEdit}>Edit</button>
        <button type="button" aria-label={`Delete ${task.title}`} disabled={pending} onClick={() => onDelete(task)}>Delete</button>
      </div>
    </li>
  );
}
