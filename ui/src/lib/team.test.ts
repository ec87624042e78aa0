import { describe, expect, it } from "vitest";
import { cleanTeam, emptyTeam, teamAddress } from "./team";

describe("team library settings", () => {
  it("saves what was typed without stray spaces, slashes or an empty CA certificate", () => {
    expect(cleanTeam({ url: " http://127.0.0.1:8484/ ", token: " abc \n", collection: " legal ", ca_cert: "  " })).toEqual({
      url: "http://127.0.0.1:8484",
      token: "abc",
      collection: "legal",
      ca_cert: null,
    });
    expect(cleanTeam({ ...emptyTeam(), ca_cert: " /etc/quire/ca.pem " }).ca_cert).toBe("/etc/quire/ca.pem");
    expect(emptyTeam()).toEqual({ url: "", token: "", collection: "", ca_cert: null });
  });

  it("names the server by its address", () => {
    expect(teamAddress({ ...emptyTeam(), url: "https://quire.example:8484//" })).toBe("https://quire.example:8484");
  });
});
