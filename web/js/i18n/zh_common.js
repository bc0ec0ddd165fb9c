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
  // Units of fmtDuration (i18n.js).
  '{n} ms': '{n} 毫秒',
  '{n} s': '{n} 秒',
  '{d} d {h} h': '{d} 天 {h} 小时',
  '{h} h {m} min': '{h} 小时 {m} 分钟',
  '{m} min {s} s': '{m} 分 {s} 秒',
};
