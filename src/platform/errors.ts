/** An error whose message is written for the admin and safe to show. */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number = 500,
    readonly expected: boolean = true,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super(message, 404);
  }
}

export class ValidationError extends AppError {
  constructor(
    message: string,
    readonly fields: Record<string, string> = {},
    status = 400,
  ) {
    super(message, status);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 409);
  }
}
