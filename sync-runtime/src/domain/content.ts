/** What the Management Activity API lists: one content blob, and one subscription. */
export interface ContentItem {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
  contentExpiration: string;
}

export interface Subscription {
  contentType: string;
  status: string;
  webhook: unknown;
}
