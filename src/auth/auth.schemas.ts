import { z } from 'zod';

export const emailSchema = z.email().max(254).meta({ example: 'ada@example.com' });
export const passwordSchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(128, 'must be at most 128 characters')
  .meta({ example: 'correct horse battery staple' });
const nameSchema = z.string().trim().min(1).max(100).meta({ example: 'Ada' });
/** A path on this site (or a URL of PUBLIC_URL) to land on afterwards; better-auth refuses others. */
const callbackSchema = z.string().max(2000).meta({ example: '/' });

export const authUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    emailVerified: z.boolean(),
    image: z.string().nullable().optional(),
    role: z.enum(['admin', 'user']).optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'AuthUser' });

export const signUpBodySchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  name: nameSchema.optional().meta({ description: 'default: the part of the email before the @' }),
});

export const signUpResponseSchema = z.object({
  token: z.string().nullable().meta({ description: 'the session token, also set as an httpOnly cookie' }),
  user: authUserSchema,
});

export const signInBodySchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(128),
  rememberMe: z
    .boolean()
    .optional()
    .meta({ description: 'false: the session cookie ends with the browser session (default true)' }),
  callbackURL: callbackSchema.optional(),
});

export const signInResponseSchema = z.object({
  redirect: z.boolean(),
  token: z.string(),
  url: z.string().optional(),
  user: authUserSchema,
});

export const signOutResponseSchema = z.object({ success: z.boolean() });

export const sessionResponseSchema = z
  .object({
    session: z.object({
      id: z.string(),
      userId: z.string(),
      expiresAt: z.string(),
      createdAt: z.string(),
      updatedAt: z.string(),
      ipAddress: z.string().nullable().optional(),
      userAgent: z.string().nullable().optional(),
    }),
    user: authUserSchema,
  })
  .nullable();

export const socialSignInBodySchema = z.strictObject({
  provider: z.literal('google'),
  callbackURL: callbackSchema.optional(),
  errorCallbackURL: callbackSchema.optional(),
  newUserCallbackURL: callbackSchema.optional(),
  disableRedirect: z.boolean().optional(),
});

export const socialSignInResponseSchema = z.object({
  url: z.string().meta({ description: "the provider's authorization URL: send the browser there" }),
  redirect: z.boolean(),
});

/** What the provider appends to the redirect; providers may add parameters of their own. */
export const callbackQuerySchema = z.looseObject({
  code: z.string().optional(),
  state: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

export const setupStatusSchema = z
  .object({
    needs_setup: z
      .boolean()
      .meta({ description: 'no account exists yet: the first one created becomes admin' }),
    sign_up: z.boolean().meta({ description: 'POST /auth/sign-up/email is open now' }),
    providers: z.array(z.enum(['email', 'google'])),
  })
  .meta({ id: 'SetupStatus' });

export const profileSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'user']),
    created_at: z.string(),
  })
  .meta({ id: 'Profile' });

export const tokenNameSchema = z.string().trim().min(1).max(100).meta({ example: 'laptop script' });

export const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: 'the first characters of the token, to tell tokens apart' }),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });

export const createdTokenSchema = tokenSchema
  .extend({
    token: z.string().meta({ description: 'shown this once: only its SHA-256 is stored' }),
  })
  .meta({ id: 'CreatedApiToken' });

export const tokenIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });
