// Every GraphQL document of the app; `npm run codegen` types them (src/gql/).
import { graphql } from "./gql";

export const TaskFieldsFragment = graphql(`
  fragment TaskFields on Task {
    __typename
    id
    title
    description
    completed
    createdAt
    updatedAt
  }
`);

export const SessionFieldsFragment = graphql(`
  fragment SessionFields on AuthPayload {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      email
      name
    }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...SessionFields
    }
  }
`);

export const SignupDocument = graphql(`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      ...SessionFields
    }
  }
`);

export const RefreshDocument = graphql(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      ...SessionFields
    }
  }
`);

export const LogoutDocument = graphql(`
  mutation Logout {
    logout
  }
`);

export const TasksDocument = graphql(`
  query Tasks($first: Int!, $after: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      nodes {
        ...TaskFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CreateTaskDocument = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...TaskFields
    }
  }
`);

export const UpdateTaskDocument = graphql(`
  mutation UpdateTask($id: ID!, $input: UpdateTaskInput!) {
    updateTask(id: $id, input: $input) {
      ...TaskFields
    }
  }
`);

export const SetTaskCompletedDocument = graphql(`
  mutation SetTaskCompleted($id: ID!, $completed: Boolean!) {
    setTaskCompleted(id: $id, completed: $completed) {
      ...TaskFields
    }
  }
`);

export const DeleteTaskDocument = graphql(`
  mutation DeleteTask($id: ID!) {
    deleteTask(id: $id)
  }
`);

export const TaskEventsDocument = graphql(`
  subscription TaskEvents {
    taskEvents {
      kind
      taskId
      task {
        ...TaskFields
      }
    }
  }
`);
