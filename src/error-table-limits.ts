/** The error table's entries for limits (see error-table.ts and src/limits/). */
export const limitErrorEntries = {
  LIMITS_INVALID: { status: 422, message: (problem: string) => problem },
  LIMITS_BUY_NOT_FOUND: {
    status: 404,
    message: (publicPath: string, orderId: string, productId: string) =>
      `No buy in force of order "${orderId}" and product "${productId}" on service "${publicPath}".`,
  },
  // Proxy path: a limit reached (429 with Retry-After and the RateLimit fields)
  RATE_LIMITED: {
    status: 429,
    message: (limit: number, per: string) =>
      `Rate limit reached: ${limit} requests per ${per}. Retry after the time in Retry-After.`,
  },
  QUOTA_EXCEEDED: {
    status: 429,
    message: (amount: number, unit: string, period: string) =>
      period === 'total'
        ? `Quota spent: ${amount} ${unit} in total.`
        : `Quota spent: ${amount} ${unit} per ${period}. Retry after the time in Retry-After.`,
  },
} as const;
