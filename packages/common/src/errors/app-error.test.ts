import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  APP_ERROR_CODES,
  AppError,
  fieldErrorsOf,
  isAppError,
  isAppErrorCode,
  validationError,
} from "./app-error";

describe("AppError", () => {
  it("carries a code, a message and optional details, and no HTTP status", () => {
    const error = new AppError("NOT_FOUND", "enrollment 7 not found", { enrollmentId: 7 });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("AppError");
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toBe("enrollment 7 not found");
    expect(error.details).toEqual({ enrollmentId: 7 });
    expect(Object.keys(error)).not.toContain("status");
    expect(Object.keys(error)).not.toContain("statusCode");
    expect(error.stack).toContain("AppError");
  });

  it("serializes to the API error body shape, leaving out absent details and the cause", () => {
    const cause = new Error("socket hang up");
    expect(
      JSON.parse(JSON.stringify(new AppError("INTERNAL", "unexpected failure", undefined, { cause }))),
    ).toEqual({
      code: "INTERNAL",
      message: "unexpected failure",
    });
    expect(new AppError("RATE_LIMITED", "slow down", { retryAfterSeconds: 30 }).toJSON()).toEqual({
      code: "RATE_LIMITED",
      message: "slow down",
      details: { retryAfterSeconds: 30 },
    });
  });

  it("has unique, upper-snake-case codes including the ones other packages rely on", () => {
    expect(new Set(APP_ERROR_CODES).size).toBe(APP_ERROR_CODES.length);
    for (const code of APP_ERROR_CODES) expect(code).toMatch(/^[A-Z]+(?:_[A-Z]+)*$/);
    for (const code of [
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "CONFLICT",
      "RATE_LIMITED",
      "INVALID_DOMAIN",
      "BLOCKLIST_INVALID",
      "SIGNATURE_INVALID",
      "MIGRATION_FAILED",
      "CONFIG_INVALID",
      "INTERNAL",
      "UNENROLL_NOT_ALLOWED",
      "DELAY_NOT_ELAPSED",
    ]) {
      expect(isAppErrorCode(code), code).toBe(true);
    }
    expect(isAppErrorCode("TEAPOT")).toBe(false);
  });
});

describe("isAppError", () => {
  it("recognizes AppErrors, optionally by code", () => {
    const error = new AppError("CONFLICT", "already enrolled");
    expect(isAppError(error)).toBe(true);
    expect(isAppError(error, "CONFLICT")).toBe(true);
    expect(isAppError(error, "NOT_FOUND")).toBe(false);
  });

  it("rejects other values", () => {
    expect(isAppError(new Error("plain"))).toBe(false);
    expect(isAppError({ name: "AppError", code: "CONFLICT", message: "not an Error" })).toBe(false);
    expect(isAppError(undefined)).toBe(false);
    expect(isAppError("CONFLICT")).toBe(false);
  });

  it("recognizes an AppError from another copy of the module by name and known code", () => {
    const foreign = Object.assign(new Error("from another bundle"), { name: "AppError", code: "FORBIDDEN" });
    expect(isAppError(foreign, "FORBIDDEN")).toBe(true);
    const unknownCode = Object.assign(new Error("x"), { name: "AppError", code: "SOMETHING_ELSE" });
    expect(isAppError(unknownCode)).toBe(false);
  });
});

describe("validationError", () => {
  const schema = z.strictObject({
    delay_hours: z.int().min(24),
    channels: z.array(z.enum(["email", "push"])),
  });

  it("turns a ZodError into VALIDATION_FAILED with field errors and a message naming the first", () => {
    const input = { delay_hours: 12, channels: ["fax"], extra: true };
    const result = schema.safeParse(input);
    if (result.success) throw new Error("expected a failure");
    const error = validationError(result.error, { subject: "unenrollment_policy", input });
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.cause).toBe(result.error);
    expect(fieldErrorsOf(error)).toEqual([
      { path: "delay_hours", message: "Too small: expected number to be >=24" },
      { path: "channels[0]", message: 'Invalid option: expected one of "email"|"push"' },
      { path: "extra", message: "unknown field" },
    ]);
    expect(error.message).toBe(
      "invalid unenrollment_policy: delay_hours: Too small: expected number to be >=24 (and 2 more)",
    );
  });

  it("works with only the ZodError", () => {
    const result = schema.safeParse({ channels: [] });
    if (result.success) throw new Error("expected a failure");
    const error = validationError(result.error);
    expect(error.message).toBe("invalid input: delay_hours: required field is missing");
    expect(error.details).toEqual({
      fieldErrors: [{ path: "delay_hours", message: "required field is missing" }],
    });
  });

  it("fieldErrorsOf is undefined for other errors", () => {
    expect(fieldErrorsOf(new AppError("NOT_FOUND", "x"))).toBeUndefined();
    expect(fieldErrorsOf(new Error("x"))).toBeUndefined();
  });
});
