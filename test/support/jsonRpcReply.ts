/** A JSON-RPC response as tests read it: loosely, since they check what the proxy or an upstream sent. */
export interface JsonRpcReply {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  result?: {
    isError?: boolean;
    content?: { type: string; text: string }[];
    _meta?: Record<string, unknown>;
  };
  error?: { code: number; message: string; data?: { reason?: string; upstream?: string } };
}
