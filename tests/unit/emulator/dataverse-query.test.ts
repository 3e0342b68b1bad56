import { describe, expect, it } from "vitest";
import {
  FilterSyntaxError,
  filterPaths,
  matches,
  parseFilter,
  type Literal,
} from "../../../emulator/dataverse-query";

const ROW: Record<string, Literal> = {
  admin_appid: "0f8fad5b-d9cb-469f-a165-70867728950e",
  admin_displayname: "O'Brien's Expenses",
  admin_appdeleted: false,
  admin_applastlaunchedon: "2026-03-01T10:00:00Z",
  admin_appdeletedon: null,
  count: 7,
};
const test = (filter: string) =>
  matches(parseFilter(filter), (path) => (path.length === 1 ? ROW[path[0]] : undefined));

/** The $filter subset of "Filter rows using OData", evaluated as Dataverse does. */
describe("the emulator's OData $filter", () => {
  it("compares text and GUIDs ignoring case, with '' for a quote", () => {
    expect(test("admin_displayname eq 'o''brien''s expenses'")).toBe(true);
    expect(test("admin_appid eq 0F8FAD5B-D9CB-469F-A165-70867728950E")).toBe(true);
    expect(test("admin_appid eq '0f8fad5b-d9cb-469f-a165-70867728950e'")).toBe(true);
    expect(test("admin_appid ne 0f8fad5b-d9cb-469f-a165-70867728950e")).toBe(false);
  });

  it("orders date-times and numbers, and treats null as its own value", () => {
    expect(test("admin_applastlaunchedon gt 2026-03-01T09:59:59Z")).toBe(true);
    expect(test("admin_applastlaunchedon lt 2026-03-01T10:00:00Z")).toBe(false);
    expect(test("count ge 7 and count le 7")).toBe(true);
    expect(test("admin_appdeletedon eq null")).toBe(true);
    expect(test("admin_appdeletedon gt 2026-01-01T00:00:00Z")).toBe(false);
    expect(test("admin_appdeleted eq false")).toBe(true);
  });

  it("binds and tighter than or, honours parentheses and not", () => {
    expect(test("count eq 1 and count eq 2 or count eq 7")).toBe(true);
    expect(test("count eq 1 and (count eq 2 or count eq 7)")).toBe(false);
    expect(test("not (count eq 1)")).toBe(true);
  });

  it("serves Microsoft.Dynamics.CRM.In over a list of values", () => {
    expect(
      test(
        "Microsoft.Dynamics.CRM.In(PropertyName='admin_appid',PropertyValues=['x','0F8FAD5B-D9CB-469F-A165-70867728950E'])",
      ),
    ).toBe(true);
    expect(test("Microsoft.Dynamics.CRM.In(PropertyName='count',PropertyValues=['1','2'])")).toBe(
      false,
    );
  });

  it("names every column path it reads, lookups through their navigation property", () => {
    expect(
      filterPaths(
        parseFilter("sdkmessageid/name eq 'UpsertMultiple' and primaryobjecttypecode eq 'a'"),
      ),
    ).toEqual([["sdkmessageid", "name"], ["primaryobjecttypecode"]]);
  });

  it("refuses what it cannot read, saying where", () => {
    for (const bad of [
      "admin_appid eq",
      "admin_appid eq 'open",
      "admin_appid like 'x'",
      "admin_appid eq bare-word",
      "count eq 1 count eq 2",
      "contains(admin_displayname,'x')",
      "Microsoft.Dynamics.CRM.Between(PropertyName='count',PropertyValues=['1','2'])",
    ])
      expect(() => parseFilter(bad), bad).toThrow(FilterSyntaxError);
  });
});
