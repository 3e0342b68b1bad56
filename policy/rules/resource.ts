/**
 * What a rule sees of a resource: its type token, its logical name and its properties. During
 * `pulumi preview`/`up` the properties are the resource's inputs for a resource rule and its
 * outputs for a stack rule; tests pass the inputs the program registers under mocks.
 */
export interface PolicySubject {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, any>;
  /** The resource's URN, when the engine knows it (stack rules report against it). */
  readonly urn?: string;
  /**
   * URNs of the resources each input property was computed from, when the engine knows them
   * (stack rules only): how a stack rule links a diagnostic setting to its vault when ARM does
   * not echo the input back.
   */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  /** The resource's `protect` option: the engine refuses to delete or replace it. */
  readonly protect?: boolean;
}

/** A stack rule's finding: the message and the resource it is about. */
export interface StackViolation {
  readonly message: string;
  readonly urn?: string;
}

/** `type name`, the way a message names a resource. */
export function describe(subject: PolicySubject): string {
  return `${subject.type} "${subject.name}"`;
}

/** A GUID inside an id (`…/roleDefinitions/{guid}`) or on its own, lower case. */
export function trailingGuid(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(value);
  return match?.[1]?.toLowerCase();
}
