/** Plain-text emails the service sends. Kept apart from the activities so wording changes touch one file. */

export interface EmailContent {
  subject: string;
  text: string;
}

/** Sent to the primary contact when onboarding completes. */
export function welcomeEmail(p: { contactName: string; companyName: string }): EmailContent {
  return {
    subject: `Welcome: ${p.companyName} is ready`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `the account of ${p.companyName} is set up and active.`,
      '',
      'You are registered as its primary contact. You can ask us at any time for access to, or correction of, the',
      'business contact information and service records we hold about your company, and at the end of the contract',
      'your data is deleted or returned as your contract says, with a deletion certificate.',
      '',
      'The Privacy Team',
    ].join('\n'),
  };
}
