// Chinese for the page's frame: navigation, session, banner, shared words.
export default {
  'Dashboard': '仪表盘',
  'Upstreams': '上游',
  'Keys': '密钥',
  'Rules': '规则',
  'Logs': '日志',
  'Client tokens': '客户端令牌',
  'Users': '用户',
  'Log in': '登录',
  'Log out': '退出登录',
  'Menu': '菜单',
  'Dismiss': '关闭',
  'Loading…': '加载中…',
};
