// Chinese for the login page (pages/login.js).
export default {
  'Enter your username.': '请输入用户名。',
  'Enter your password.': '请输入密码。',
  'Log in failed: wrong username or password.': '登录失败：用户名或密码错误。',
  'Use admin token': '使用管理员令牌',
  'Admin token': '管理员令牌',
  'The bootstrap token from the configuration (admin_token).': '配置文件中的初始令牌（admin_token）。',
  'Enter the admin token.': '请输入管理员令牌。',
  'This token is not accepted.': '该令牌无效。',
  'Sign in to manage upstreams, keys, rules and tokens.': '登录以管理上游、密钥、规则和令牌。',
  'or': '或',
};
