import { describe, expect, test } from "vitest";
import {
  can,
  type EnrollmentResource,
  isApprover,
  type PolicyActor,
  type RequestResource,
} from "./enrollment.policy";

const OWNER = 1;
const PARTNER = 2;
const ORG_ADMIN = 3;
const STRANGER = 4;
const ORG = 50;

function actor(accountId: number, adminOf: number[] = [], role: PolicyActor["role"] = "user"): PolicyActor {
  return { accountId, role, adminOrganizationIds: new Set(adminOf) };
}

const selfTier: EnrollmentResource = {
  tier: "self",
  status: "active",
  ownerAccountId: OWNER,
  enrolledByAccountId: OWNER,
  organizationId: null,
};
const partnerTier: EnrollmentResource = { ...selfTier, tier: "partner", enrolledByAccountId: PARTNER };
const authorityTier: EnrollmentResource = {
  ...selfTier,
  tier: "authority",
  enrolledByAccountId: ORG_ADMIN,
  organizationId: ORG,
};

function request(enrollment: EnrollmentResource, overrides: Partial<RequestResource> = {}): RequestResource {
  return {
    enrollment,
    requestedByAccountId: OWNER,
    requiredApproverAccountId: enrollment.tier === "self" ? null : enrollment.enrolledByAccountId,
    status: "pending",
    ...overrides,
  };
}

describe("enrollment policy", () => {
  test("approvers: nobody for self, the partner for partner, current organization admins for authority", () => {
    expect(isApprover(actor(OWNER), selfTier)).toBe(false);
    expect(isApprover(actor(PARTNER), partnerTier)).toBe(true);
    expect(isApprover(actor(OWNER), partnerTier)).toBe(false);
    expect(isApprover(actor(99, [ORG]), authorityTier)).toBe(true);
    // The admin who enrolled but is no longer an admin of the organization does not decide.
    expect(isApprover(actor(ORG_ADMIN, []), authorityTier)).toBe(false);
    // A platform admin is not an approver.
    expect(isApprover(actor(STRANGER, [], "admin"), partnerTier)).toBe(false);
  });

  test("view/update/loosenDirectly/requestUnenroll per party", () => {
    const cases: Array<[PolicyActor, EnrollmentResource, Record<string, boolean>]> = [
      [actor(OWNER), partnerTier, { view: true, update: true, loosenDirectly: false, requestUnenroll: true }],
      [
        actor(PARTNER),
        partnerTier,
        { view: true, update: true, loosenDirectly: true, requestUnenroll: false },
      ],
      [
        actor(STRANGER),
        partnerTier,
        { view: false, update: false, loosenDirectly: false, requestUnenroll: false },
      ],
      [actor(OWNER), selfTier, { view: true, update: true, loosenDirectly: false, requestUnenroll: true }],
      [
        actor(ORG_ADMIN, [ORG]),
        authorityTier,
        { view: true, update: true, loosenDirectly: true, requestUnenroll: false },
      ],
      [
        actor(STRANGER, [], "admin"),
        authorityTier,
        { view: true, update: false, loosenDirectly: false, requestUnenroll: false },
      ],
    ];
    for (const [who, enrollment, expected] of cases) {
      const actual = Object.fromEntries(
        (["view", "update", "loosenDirectly", "requestUnenroll"] as const).map((a) => [
          a,
          can(who, a, enrollment),
        ]),
      );
      expect({ who: who.accountId, tier: enrollment.tier, actual }).toEqual({
        who: who.accountId,
        tier: enrollment.tier,
        actual: expected,
      });
    }
    expect(can(actor(OWNER), "update", { ...selfTier, status: "unenrolled" })).toBe(false);
  });

  test("requests: the partner named on it or an organization admin decides; the requester cancels or completes (self)", () => {
    expect(can(actor(PARTNER), "approveUnenroll", request(partnerTier))).toBe(true);
    expect(can(actor(OWNER), "approveUnenroll", request(partnerTier))).toBe(false);
    expect(can(actor(PARTNER), "approveUnenroll", request(partnerTier, { status: "denied" }))).toBe(false);
    expect(can(actor(77, [ORG]), "denyUnenroll", request(authorityTier))).toBe(true);
    expect(can(actor(OWNER), "approveUnenroll", request(selfTier))).toBe(false);
    expect(can(actor(OWNER), "completeUnenroll", request(selfTier))).toBe(true);
    expect(can(actor(PARTNER), "completeUnenroll", request(selfTier))).toBe(false);
    expect(can(actor(OWNER), "cancelUnenroll", request(partnerTier))).toBe(true);
    expect(can(actor(PARTNER), "cancelUnenroll", request(partnerTier))).toBe(false);
    expect(can(actor(STRANGER), "viewRequest", request(partnerTier))).toBe(false);
  });

  test("create: consent per tier", () => {
    const base = {
      ownerAccountId: OWNER,
      ownerInitiatedActivePartnership: false,
      organization: null,
      ownerIsOrganizationMember: false,
    };
    expect(can(actor(OWNER), "create", { ...base, tier: "self", enrolledByAccountId: OWNER })).toBe(true);
    expect(can(actor(PARTNER), "create", { ...base, tier: "self", enrolledByAccountId: PARTNER })).toBe(
      false,
    );
    const partner = { ...base, tier: "partner" as const, enrolledByAccountId: PARTNER };
    expect(can(actor(OWNER), "create", partner)).toBe(false);
    expect(can(actor(OWNER), "create", { ...partner, ownerInitiatedActivePartnership: true })).toBe(true);
    expect(can(actor(PARTNER), "create", { ...partner, ownerInitiatedActivePartnership: true })).toBe(true);
    expect(can(actor(STRANGER), "create", { ...partner, ownerInitiatedActivePartnership: true })).toBe(false);
    const authority = {
      ...base,
      tier: "authority" as const,
      enrolledByAccountId: ORG_ADMIN,
      organization: { id: ORG, type: "court" as const },
      ownerIsOrganizationMember: true,
    };
    expect(can(actor(ORG_ADMIN, [ORG]), "create", authority)).toBe(true);
    expect(can(actor(ORG_ADMIN, []), "create", authority)).toBe(false);
    expect(can(actor(ORG_ADMIN, [ORG]), "create", { ...authority, ownerIsOrganizationMember: false })).toBe(
      false,
    );
    expect(
      can(actor(ORG_ADMIN, [ORG]), "create", {
        ...authority,
        organization: { id: ORG, type: "family" as const },
      }),
    ).toBe(false);
  });
});
