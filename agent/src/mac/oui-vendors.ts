/**
 * A small curated OUI list (IEEE MA-L assignments of common NIC vendors) for random vendor MACs,
 * so a randomised adapter looks like ordinary hardware. Names are what `--vendor` matches
 * (case-insensitive). Each OUI here is universally administered (bit 1 of the first octet clear)
 * and unicast (bit 0 clear).
 */
export interface OuiVendor {
  name: string;
  /** Three-octet prefixes, `aa:bb:cc`. */
  ouis: readonly string[];
}

export const OUI_VENDORS: readonly OuiVendor[] = [
  { name: 'Intel', ouis: ['00:1b:21', '3c:97:0e', 'a0:36:9f', 'f8:f2:1e'] },
  { name: 'Realtek', ouis: ['00:e0:4c'] },
  { name: 'Broadcom', ouis: ['00:10:18', '00:0a:f7'] },
  { name: 'Qualcomm Atheros', ouis: ['00:03:7f'] },
  { name: 'Marvell', ouis: ['00:50:43'] },
  { name: 'Mellanox', ouis: ['00:02:c9', 'ec:0d:9a'] },
  { name: 'Cisco', ouis: ['00:1b:54', '00:25:45', '58:8d:09'] },
  { name: 'Juniper', ouis: ['00:05:85', '28:8a:1c'] },
  { name: 'Arista', ouis: ['00:1c:73', '44:4c:a8'] },
  { name: 'HPE', ouis: ['00:17:a4', '3c:d9:2b'] },
  { name: 'Dell', ouis: ['00:14:22', 'b8:ac:6f', 'f8:bc:12'] },
  { name: 'Lenovo', ouis: ['00:06:1b', '54:ee:75'] },
  { name: 'Apple', ouis: ['00:1c:b3', '3c:07:54', 'a4:83:e7'] },
  { name: 'Samsung', ouis: ['00:12:fb', '5c:0a:5b'] },
  { name: 'Microsoft', ouis: ['00:15:5d', '00:50:f2'] },
  { name: 'ASUSTek', ouis: ['00:1a:92', '2c:56:dc'] },
  { name: 'Gigabyte', ouis: ['00:24:1d', '1c:6f:65'] },
  { name: 'MSI', ouis: ['00:21:85', '44:8a:5b'] },
  { name: 'TP-Link', ouis: ['00:27:19', '50:c7:bf'] },
  { name: 'Netgear', ouis: ['00:09:5b', '20:e5:2a'] },
  { name: 'D-Link', ouis: ['00:05:5d', '1c:7e:e5'] },
  { name: 'Ubiquiti', ouis: ['00:15:6d', '24:a4:3c'] },
  { name: 'Huawei', ouis: ['00:18:82', '00:e0:fc'] },
  { name: 'ZTE', ouis: ['00:15:eb', '34:4b:50'] },
  { name: 'Xiaomi', ouis: ['28:6c:07', '64:09:80'] },
  { name: 'Raspberry Pi', ouis: ['b8:27:eb', 'dc:a6:32'] },
  { name: 'VMware', ouis: ['00:0c:29', '00:50:56'] },
  { name: 'Supermicro', ouis: ['00:25:90', 'ac:1f:6b'] },
  { name: 'Fujitsu', ouis: ['00:0b:5d', '00:30:05'] },
  { name: 'Aruba', ouis: ['00:0b:86', '24:de:c6'] },
  { name: 'Aquantia', ouis: ['00:17:b6'] },
];
